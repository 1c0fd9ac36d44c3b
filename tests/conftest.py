def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: runs the notebooks in JupyterLab in headless chromium (slow; needs /usr/bin/chromium)")
