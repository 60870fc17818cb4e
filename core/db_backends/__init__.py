"""The database backends of ``DATABASES``: Django's, with django-prometheus' statement metrics (``metrics.py``)."""
