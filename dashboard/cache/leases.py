"""Redis scripts for a lease held by one worker: released or renewed only by its holder
(its token), so that a worker never ends or extends a lease another has taken since."""
RELEASE_LOCK = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) else return 0 end")
RENEW_LEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
               "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
