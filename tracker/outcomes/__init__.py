"""Sessions, side effects, outcome assessments, and the pure response/plateau maths."""
