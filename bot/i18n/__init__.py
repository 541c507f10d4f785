"""Translations: gettext catalogs, language negotiation, and the babel commands behind `helpline locales`."""
