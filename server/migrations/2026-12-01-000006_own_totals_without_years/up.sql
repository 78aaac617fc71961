-- A procuratorate's own totals are kept by month and day only (totals::OWN_GRAINS): a rollup
-- reads one procuratorate's year as its twelve month rows, and a write no longer moves the
-- own year row of every date it touches. Province subtree rows keep their years.
DELETE FROM figure_totals WHERE grain = 1 AND scope = 0;
DELETE FROM listing_totals WHERE grain = 1 AND scope = 0;
