DELETE FROM region_ancestors;
DELETE FROM regions;
