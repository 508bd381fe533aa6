-- Span count
select count(*) as spans from spans
