"""``gongsheng demo``: a synthetic city run through the real services, a client like any other.

:mod:`.city` builds the city and runs it period by period through :class:`Platform` (its writes
and its reads are the services' own); :mod:`.logins` writes the demo logins file; :mod:`.report`
renders the HTML report.
"""

from gongsheng.entrypoints.demo.city import DemoConfig, DemoResult, run_demo
from gongsheng.entrypoints.demo.logins import demo_files, known_passwords, write_logins

__all__ = ["DemoConfig", "DemoResult", "demo_files", "known_passwords", "run_demo", "write_logins"]
