"""English dates the European way: day before month, weeks start on Monday.

Django's own "en" formats are American (01/15/2024); our readers live in the Netherlands and type
dates as the Dutch forms ask (31-12-2024), so English pages show them the same way.
"""

DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d-m-Y"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = [
    "%d-%m-%Y",  # '25-10-2026'
    "%d/%m/%Y",  # '25/10/2026'
    "%Y-%m-%d",  # '2026-10-25'
    "%d-%m-%y",  # '25-10-26'
    "%d %B %Y",  # '25 October 2026'
    "%d %b %Y",  # '25 Oct 2026'
]
DATETIME_INPUT_FORMATS = [
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
