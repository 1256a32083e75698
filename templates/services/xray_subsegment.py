with xray_recorder.in_subsegment("mock-data") as subsegment:
    if subsegment is not None:
        subsegment.put_metadata("now", {now}, "o11y")
