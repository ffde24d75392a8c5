"""Line echo servers the kit's reference servers are measured against."""
