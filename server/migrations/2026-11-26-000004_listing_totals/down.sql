DROP TABLE listing_totals;
ALTER TABLE figure_totals ADD FOREIGN KEY (region_code) REFERENCES regions (code);
