# AWS X-Ray: segments go over UDP to AWS_XRAY_DAEMON_ADDRESS (the xray-daemon container),
# which also serves the sampling rules.
xray_recorder.configure(service="{service}", dynamic_naming=os.getenv("AWS_XRAY_URL") or "*")
XRayMiddleware(app, xray_recorder)
