-- Insert priced models
insert into priced_models
select provider, model, hour, price_source, resolved_provider, resolved_model, context_window::bigint
from priced_batch
