# AWS X-Ray: segments go over UDP to AWS_XRAY_DAEMON_ADDRESS (the xray-daemon container),
# which also serves the sampling rules.
# AWS_XRAY_URL (e.g. "*4567-*.gitpod.io*") names segments after the host; unset, they are "{service}".
xray_recorder.configure(service="{service}", dynamic_naming=os.getenv("AWS_XRAY_URL") or None)
XRayMiddleware(app, xray_recorder)
