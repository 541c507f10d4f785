"""Risk detection: lexicons by language, one-pass matching, evaluation on labelled messages."""
