"""The command-line tests run on the same account model as the AWS tooling's."""
from tests.infra.aws.conftest import aws, package, template  # noqa: F401
