"""Planning a monitoring force (issue 16): the force model (:mod:`.force`), where its sites go
(:mod:`.placement`) and its calibration against past missions (:mod:`.calibration`)."""
