DROP TABLE judicial_aid;
DROP TABLE resolutions;
DROP TABLE measures;
DROP TABLE cases;
DROP TABLE region_ancestors;
DROP TABLE regions;
