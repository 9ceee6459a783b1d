"""Telling plate text from the other text in a street photo.

The detector finds every line of text: timestamps burnt into the frame, dealer frames,
badges, shop signs. These rules keep what can be a plate.
"""

from __future__ import annotations

import re

# Dates and times burnt into the frame: hh:mm, dd/mm/yy, yyyy-mm-dd. Bounded by non-digits
# so that a Czech plate's sticker read as a colon ("1B2:5790") is not a time.
_OVERLAY = re.compile(
    r"(?<!\d)\d{1,2}\s?:\s?\d{2}(?!\d)|(?<!\d)\d{1,4}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{2,4}(?!\d)"
    r"|(?<!\d)\d{1,2}/\d{1,2}(?!\d)"
)

# Lower-case letters whose shape differs from the capital: when the OCR reads several
# of them the line is written text (a dealer name, a sign), never a plate.
_DISTINCT_LOWER = set("abdefghijlmnqrty")


def _words(text: str) -> list[str]:
    return text.split()


# Words printed on cars and plate frames that look like vanity plates. Digits-free reads
# are the riskiest: a make or model badge is exactly a short upper-case word.
NOT_PLATES = frozenset(
    _words(
        """
    alfa audi bmw buick cadillac chevrolet chevy chrysler citroen dacia dodge fiat ford gmc
    honda hyundai infiniti jaguar jeep kia lancia lexus lincoln mazda mercedes mini
    mitsubishi nissan opel peugeot porsche ram renault saab seat skoda subaru suzuki tesla
    toyota volkswagen volvo vw acura altima maxima sentra camry corolla civic accord
    sandero logan clio megane punto panda strada uno palio gol golf polo passat jetta
    focus fiesta escape explorer mustang prius rav tahoe suburban silverado sierra
    sport sporting hybrid turbo diesel quattro limited rallye
    california texas florida newyork york illinois ohio michigan georgia virginia
    washington oregon nevada arizona colorado utah idaho montana alaska hawaii maine
    dealer motors auto autos sales service rental penske ryder budget hertz uhaul
    """
    )
)


def is_overlay(raw: str) -> bool:
    """A timestamp or date burnt into the frame: `raw` is the OCR's full-vocabulary read."""
    return bool(_OVERLAY.search(raw))


# A camera's date read with look-alike letters ("2O14O51..."): digits once the letters
# that look like digits are taken as digits, starting with a year.
_AS_DIGITS = str.maketrans("OQDILZSBGT", "0001125867")
_YEAR_FIRST = re.compile(r"(?:19[89]\d|20[0-4]\d)\d{2,}")


def is_dateish(text: str) -> bool:
    """A plate-alphabet read (A-Z, 0-9) that is a date once look-alikes are digits.

    Costs the rare all-digit plate starting with 1980-2049 (e.g. "2013958").
    """
    return bool(_YEAR_FIRST.fullmatch(text.upper().translate(_AS_DIGITS)))


def is_written_text(raw: str) -> bool:
    """The OCR read lower case: a sign or a dealer name, plates are in capitals."""
    lower = sum(ch in _DISTINCT_LOWER for ch in raw)
    upper = sum(ch.isupper() or ch.isdigit() for ch in raw)
    return lower >= 2 and lower >= upper / 2


def is_known_word(text: str) -> bool:
    return text.lower() in NOT_PLATES
