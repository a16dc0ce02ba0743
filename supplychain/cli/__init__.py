"""Click commands only: parse options, call the library, render results. No logic here."""
