{datetime_import}
from aws_xray_sdk.core import xray_recorder
