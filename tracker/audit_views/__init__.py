"""Reading the audit trail: the clinic admin's search and the patient's access log. (Writing: tracker.audit.)"""
