DROP TABLE listing_totals;
