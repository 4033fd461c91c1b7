def pytest_configure(config):  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers",
        "benchmark_smoke: runs the side-by-side benchmark harness for ~40 s (deselect with -m 'not benchmark_smoke')",
    )
