-- Source watermark
-- The latest span end (Unix ns) stored from a database source ($source), or no row.
select watermark_ns from source_watermarks where source = $source
