"""The core: pure logic and data (allocation, budget, snapshot, rules, assessment, report,
export, what-if, settings). It never imports sources, tui or demo (import-linter checks)."""
