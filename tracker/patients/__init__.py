"""Patient records: the practitioner's patient list, the patient chart, areas and courses."""
