"""The plugin registers the `sagemaker` flavor; importing it stays cheap (no boto3)."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_boto3() -> None:
    code = "import sys, kitaru_sagemaker; assert 'boto3' not in sys.modules and 'botocore' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_flavor_is_registered_as_remote() -> None:
    from kitaru.plugins import get_plugin_manager

    flavor = get_plugin_manager().find_flavor("orchestrator", "sagemaker")
    assert flavor is not None and flavor.remote
