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


def test_clients_share_the_parsed_service_model() -> None:
    """Every orchestrator builds its own clients; the ~3 MB SageMaker service model is parsed once per process."""
    from kitaru_sagemaker._aws import client
    from kitaru_sagemaker._config import SageMakerOrchestratorConfig

    config = SageMakerOrchestratorConfig(role_arn="arn:aws:iam::123456789012:role/kitaru",
                                         output_path="s3://kitaru-jobs/out", region="eu-west-1",
                                         aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    first, second = client("sagemaker", config), client("sagemaker", config)
    assert first is not second
    assert first.meta.service_model.operation_names == second.meta.service_model.operation_names
    assert first.meta.service_model._service_description is second.meta.service_model._service_description
