def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: runs the notebooks in JupyterLab in headless chromium (slow; needs /usr/bin/chromium)")


def pytest_terminal_summary(terminalreporter):
    """List how long each notebook took under Colab's widget stack (tests/test_colab_stack.py)."""
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            seconds = dict(getattr(report, "user_properties", ())).get("colab_seconds")
            if seconds is not None and report.when == "call":
                rows.append((report.nodeid.split("[")[-1].rstrip("]"), seconds, outcome))
    if rows:
        terminalreporter.write_sep("-", "notebooks under Colab's widget stack (ipywidgets 7)")
        for name, seconds, outcome in sorted(rows):
            terminalreporter.write_line(f"{name:<24} {seconds:7.1f} s  {outcome}")
