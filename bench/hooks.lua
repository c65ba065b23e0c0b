-- wrk script: POSTs pre-signed Stripe webhooks read from the file in $REQUESTS, one
-- "<Stripe-Signature>\t<body>" per line. Each of the $THREADS threads takes every THREADS-th
-- line, so no two requests of a run repeat an event (a repeat is a cheaper duplicate).
local threads = 0

function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  requests = {}
  local stride = tonumber(os.getenv("THREADS"))
  local line_number = 0
  for line in io.lines(os.getenv("REQUESTS")) do
    if line_number % stride == index then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", nil,
        { ["Content-Type"] = "application/json", ["Stripe-Signature"] = signature }, body)
    end
    line_number = line_number + 1
  end
  sent = 0
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end
