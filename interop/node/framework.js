// A small Mesos framework written with mesos-framework (npm), for the interop
// suite.
//
//     node framework.js MASTER_URL LOG_FILE
//
// It subscribes, takes the first offer it gets and launches two `sleep` tasks
// on it (`sleeper`: sleep 60; `napper`: sleep 1), declines every other offer,
// acknowledges every status update, kills `sleeper` once it runs, and tears
// down once `sleeper` is killed and `napper` has finished. Only the library's
// own API talks to the master: `Scheduler` with custom event handlers (the
// library's documented way to write framework logic), its `accept`,
// `decline`, `acknowledge`, `kill` and `teardown` calls, and its protobuf
// builders for the task infos.
//
// LOG_FILE gets one JSON object a line, in the order things happened:
//   {"kind":"event","event":{...}}  an event as the library handed it over
//   {"kind":"call","call":{...}}    a call made through the library (its key fields)
//   {"kind":"done"}                 the framework ended after its teardown
// The test (tests/interop/mod.rs) checks those against the session file.
// Calls go out one at a time (the next when the library says the last was
// sent and answered 202), so their order is the order the master sees.
"use strict";

const fs = require("fs");
const path = require("path");
const { Scheduler, Mesos, helpers } = require("mesos-framework");

const mesos = Mesos.getMesos();

if (process.argv.length !== 4) {
    process.stderr.write("usage: node framework.js MASTER_URL LOG_FILE\n");
    process.exit(2);
}
const master = new URL(process.argv[2]);
const logFd = fs.openSync(process.argv[3], "a");

// Synchronous writes: nothing is lost when the process exits.
function log(entry) {
    fs.writeSync(logFd, JSON.stringify(entry) + "\n");
}

function fail(message) {
    process.stderr.write("framework.js: " + message + "\n");
    process.exit(1);
}

// A framework that hangs is a failure the test reports; this is a last
// resort in case the test's own timeout does not fire.
setTimeout(() => fail("timed out"), 1000 * Number(process.env.INTEROP_TIMEOUT || 120)).unref();

// Offers filtered for an hour: no offer comes back during the run, so the
// framework's calls follow the events deterministically.
const REFUSE_SECONDS = 3600;
const TASKS = { sleeper: "sleep 60", napper: "sleep 1" };

let launched = false;
let killed = false;
let tornDown = false;
const states = {};

// One call at a time.
const queue = [];
let busy = false;
function call(entry, send) {
    queue.push({ entry, send });
    pump();
}
function pump() {
    if (busy || queue.length === 0) {
        return;
    }
    const next = queue.shift();
    busy = true;
    log({ kind: "call", call: next.entry });
    next.send();
}
function sent() {
    busy = false;
    pump();
}

function taskInfo(name, agentId) {
    const resource = (kind, amount) =>
        helpers.stringifyEnumsRecursive(new mesos.Resource(kind, mesos.Value.Type.SCALAR, new mesos.Value.Scalar(amount)));
    return new mesos.TaskInfo(
        name, // name
        new mesos.TaskID(name), // task_id
        agentId, // agent_id
        [resource("cpus", 0.5), resource("mem", 128)], // resources
        null, // executor
        new mesos.CommandInfo(null, null, true, TASKS[name], null, null), // command: shell
    );
}

const scheduler = new Scheduler({
    masterUrl: master.hostname,
    port: master.port,
    frameworkName: "interop-mesos-framework",
    // The library re-subscribes when the stream is idle this long: more than
    // the master's heartbeat interval.
    masterConnectionTimeout: 60,
    logging: { path: path.dirname(path.resolve(process.argv[3])), fileName: "mesos-framework.log", level: "info" },
    handlers: {
        SUBSCRIBED: function (subscribed) {
            log({ kind: "event", event: { type: "SUBSCRIBED", subscribed } });
        },
        HEARTBEAT: function (heartbeat) {
            log({ kind: "event", event: { type: "HEARTBEAT" } });
        },
        ERROR: function (error) {
            log({ kind: "event", event: { type: "ERROR", error } });
        },
        OFFERS: function (offers) {
            log({ kind: "event", event: { type: "OFFERS", offers } });
            const filters = new mesos.Filters(REFUSE_SECONDS);
            for (const offer of offers.offers) {
                if (!launched) {
                    launched = true;
                    const tasks = Object.keys(TASKS).map((name) => taskInfo(name, offer.agent_id));
                    const operation = helpers.stringifyEnumsRecursive(
                        new mesos.Offer.Operation(mesos.Offer.Operation.Type.LAUNCH, new mesos.Offer.Operation.Launch(tasks)),
                    );
                    const entry = {
                        type: "ACCEPT",
                        accept: {
                            offer_ids: [offer.id],
                            operations: [{ type: "LAUNCH", launch: { task_infos: Object.keys(TASKS).map((name) => ({ task_id: { value: name } })) } }],
                            filters: { refuse_seconds: REFUSE_SECONDS },
                        },
                    };
                    call(entry, () => this.accept([offer.id], operation, filters));
                } else {
                    const entry = { type: "DECLINE", decline: { offer_ids: [offer.id], filters: { refuse_seconds: REFUSE_SECONDS } } };
                    call(entry, () => this.decline([offer.id], filters));
                }
            }
        },
        UPDATE: function (update) {
            log({ kind: "event", event: { type: "UPDATE", update } });
            const status = update.status;
            if (status.uuid) {
                const entry = {
                    type: "ACKNOWLEDGE",
                    acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
                };
                call(entry, () => this.acknowledge(update));
            }
            const task = status.task_id.value;
            states[task] = status.state;
            if (task === "sleeper" && status.state === "TASK_RUNNING" && !killed) {
                killed = true;
                const entry = { type: "KILL", kill: { task_id: status.task_id, agent_id: status.agent_id } };
                call(entry, () => this.kill(task, status.agent_id.value));
            }
            if (states.sleeper === "TASK_KILLED" && states.napper === "TASK_FINISHED" && !tornDown) {
                tornDown = true;
                call({ type: "TEARDOWN" }, () => this.teardown());
            }
        },
    },
});

for (const name of ["sent_accept", "sent_decline", "sent_acknowledge", "sent_kill"]) {
    scheduler.on(name, sent);
}

// After TEARDOWN the master answers 202 and ends the stream, in either order
// here. The framework stops once both happened: the library would subscribe
// again when the stream ends (it sends that SUBSCRIBE after a backoff of at
// least 1 s, so it never leaves).
let teardownAnswered = false;
let streamEnded = false;
function stopWhenDone() {
    if (teardownAnswered && streamEnded) {
        log({ kind: "done" });
        process.exit(0);
    }
}

scheduler.on("sent_teardown", () => {
    teardownAnswered = true;
    stopWhenDone();
    setTimeout(() => fail("the master did not end the stream within 5 s of the TEARDOWN"), 5000);
});

scheduler.on("error", (error) => {
    const message = error && error.message ? error.message : String(error);
    if (tornDown && message === "Long-running connection was closed!") {
        streamEnded = true;
        stopWhenDone();
        return;
    }
    fail("error: " + message);
});

scheduler.on("ready", () => {
    log({ kind: "call", call: { type: "SUBSCRIBE", subscribe: { framework_info: { name: "interop-mesos-framework" } } } });
    scheduler.subscribe();
});
