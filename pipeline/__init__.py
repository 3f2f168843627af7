"""TReaderXML: extreme multi-label text classification with teacher knowledge.

The importable library behind the DVC stages in ``stages/``. Nothing in this
package reads ``params.yaml`` or knows that DVC exists: functions take and
return plain data (pyarrow tables, numpy arrays, dataclasses).
"""

__version__ = "0.1.0"
