"""A small Mesos framework written with avmesos (PyPI), for the interop suite.

    python framework.py MASTER_URL LOG_FILE

It subscribes, takes the first offer it gets and launches two `sleep` tasks on
it (`sleeper`: sleep 60; `napper`: sleep 1), declines every other offer,
acknowledges every status update (avmesos does that itself before it calls
back), kills `sleeper` once it runs, and tears down once `sleeper` is killed
and `napper` has finished. Only avmesos's own API talks to the master.

With INTEROP_TASKS=sleeper in the environment it launches `sleeper` alone:
a story whose events come in one order whatever the timing (two tasks'
updates interleave as their executors happen to run), for comparing two
masters with `mesos-replay diff --rebind-master-ids`.

LOG_FILE gets one JSON object a line, in the order things happened:
  {"kind":"event","event":{...}}  an event as avmesos handed it over
  {"kind":"call","call":{...}}    a call made through avmesos (its key fields)
  {"kind":"done"}                 the framework ended after its teardown
The test (tests/interop/mod.rs) checks those against the session file.
Library logs go to stderr. Exit status 0 after a clean teardown, 1 otherwise.
"""

import json
import logging
import os
import sys
import threading

from avmesos.client import MesosClient

# Offers filtered for an hour: no offer comes back during the run, so the
# framework's calls follow the events deterministically.
REFUSE = {"filters": {"refuse_seconds": 3600.0}}
COMMANDS = {"sleeper": "sleep 60", "napper": "sleep 1"}
TASKS = {
    name: COMMANDS[name]
    for name in os.environ.get("INTEROP_TASKS", "sleeper,napper").split(",")
}
# The state each task must reach before the framework tears down.
DONE = {"sleeper": "TASK_KILLED", "napper": "TASK_FINISHED"}


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, entry):
        with self.lock:
            self.file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self.file.flush()

    def event(self, event):
        self.write({"kind": "event", "event": event})

    def call(self, call):
        self.write({"kind": "call", "call": call})


def task_info(name, agent_id):
    return {
        "name": name,
        "task_id": {"value": name},
        "agent_id": {"value": agent_id},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 128.0}},
        ],
        "command": {"value": TASKS[name]},
    }


class Framework:
    def __init__(self, master, log):
        self.log = log
        self.client = MesosClient(
            mesos_urls=[master], frameworkName="interop-avmesos", max_reconnect=1
        )
        self.driver = None
        self.launched = False
        self.states = {}
        self.killed = False
        self.torn_down = False
        self.client.on(MesosClient.SUBSCRIBED, self.subscribed)
        self.client.on(MesosClient.OFFERS, self.offers)
        self.client.on(MesosClient.UPDATE, self.update)
        self.client.on(MesosClient.HEARTBEAT, self.heartbeat)
        self.client.on(MesosClient.ERROR, self.error)

    def run(self):
        self.log.call(
            {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "interop-avmesos"}}}
        )
        self.client.register()
        return self.torn_down

    def subscribed(self, driver):
        self.driver = driver
        self.log.event(
            {
                "type": "SUBSCRIBED",
                "subscribed": {"framework_id": {"value": self.client.frameworkId}},
            }
        )

    def heartbeat(self, _):
        self.log.event({"type": "HEARTBEAT"})

    def error(self, message):
        self.log.event({"type": "ERROR", "error": {"message": message}})

    def offers(self, offers):
        self.log.event(
            {"type": "OFFERS", "offers": {"offers": [o.get_offer() for o in offers]}}
        )
        if self.torn_down:
            # Offers the master sent before it saw the TEARDOWN (a real
            # master's stream can carry some): a torn-down framework makes
            # no more calls.
            return
        for offer in offers:
            info = offer.get_offer()
            offer_id = {"value": info["id"]["value"]}
            if not self.launched:
                self.launched = True
                agent = info["agent_id"]["value"]
                tasks = [task_info(name, agent) for name in TASKS]
                offer.accept(tasks, REFUSE)
                self.log.call(
                    {
                        "type": "ACCEPT",
                        "accept": {
                            "offer_ids": [offer_id],
                            "operations": [
                                {"type": "LAUNCH", "launch": {"task_infos": tasks}}
                            ],
                        },
                    }
                )
            else:
                offer.decline(REFUSE)
                self.log.call({"type": "DECLINE", "decline": {"offer_ids": [offer_id]}})

    def update(self, update):
        status = update["status"]
        self.log.event({"type": "UPDATE", "update": update})
        if "uuid" in status:
            # avmesos acknowledged it before calling back.
            self.log.call(
                {
                    "type": "ACKNOWLEDGE",
                    "acknowledge": {
                        "agent_id": status["agent_id"],
                        "task_id": status["task_id"],
                        "uuid": status["uuid"],
                    },
                }
            )
        task = status["task_id"]["value"]
        self.states[task] = status["state"]
        if task == "sleeper" and status["state"] == "TASK_RUNNING" and not self.killed:
            self.killed = True
            self.driver.kill(status["agent_id"]["value"], task)
            self.log.call(
                {
                    "type": "KILL",
                    "kill": {"task_id": {"value": task}, "agent_id": status["agent_id"]},
                }
            )
        if (
            all(self.states.get(name) == DONE[name] for name in TASKS)
            and not self.torn_down
        ):
            self.torn_down = True
            self.driver.tearDown()
            self.log.call({"type": "TEARDOWN"})
            # The master ends the stream: avmesos's loop reads to its end,
            # then `register()` returns, not subscribing again since
            # `max_reconnect` is 1 (`stop` would make it tear down again).


def main():
    if len(sys.argv) != 3:
        print("usage: framework.py MASTER_URL LOG_FILE", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # A framework that hangs is a failure the test reports; this is a last
    # resort in case the test's own timeout does not fire.
    watchdog = threading.Timer(float(os.environ.get("INTEROP_TIMEOUT", "120")), os._exit, [3])
    watchdog.daemon = True
    watchdog.start()
    log = Log(sys.argv[2])
    if Framework(sys.argv[1], log).run():
        log.write({"kind": "done"})
        return 0
    print("framework.py: the framework ended without tearing down", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
