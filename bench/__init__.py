"""Load and latency benchmarks of the onboarding service (not part of the test run); see bench/README.md."""
