"""The corpus tier's table, printed in pytest's closing summary (after the tests, before the timings)."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    table = getattr(config, "slimcompat_corpus_table", None)
    if table:
        terminalreporter.section("the era's programs: plain, under run, migrated")
        for line in table.splitlines():
            terminalreporter.write_line(line)
