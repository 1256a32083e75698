logging.getLogger("cruddur").info("HomeActivities")
