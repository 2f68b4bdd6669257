"""Reads that span models: the case timeline, "my work", reminders due now.

Plain functions returning querysets or small dataclasses, one module per area.
"""
