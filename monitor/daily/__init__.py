"""The daily digest: yesterday's volume, sentiment, top posts and open incidents of each brand, once a day."""
