"""`orgsync doctor`: read-only checks of credentials, roles, Resource Explorer, SCPs and prerequisites.

Gathering (I/O through the engine's ApiCaller) is kept apart from the checks, which are pure
functions from evidence to CheckResults.
"""

from sync.doctor.model import CallError, CheckResult, Status, exit_code
from sync.doctor.run import CATEGORIES, DoctorOptions, diagnose

__all__ = ["CATEGORIES", "CallError", "CheckResult", "DoctorOptions", "Status", "diagnose", "exit_code"]
