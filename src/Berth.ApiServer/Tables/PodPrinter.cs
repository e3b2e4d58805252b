using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printPod from kubernetes pkg/printers/internalversion/printers.go (v1.32), always "wide" because
/// the apiserver's TableConvertor generates with Wide: true and kubectl hides priority-1 columns.
internal static class PodPrinter
{
    // node.NodeUnreachablePodReason
    private const string NodeUnreachablePodReason = "NodeLost";

    public static JsonArray Cells(JsonObject pod, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(pod, "metadata");
        var spec = JsonRead.Obj(pod, "spec");
        var status = JsonRead.Obj(pod, "status");
        var conditions = JsonRead.Arr(status, "conditions");

        var (ready, total, reason, restarts, lastRestart) = Summarize(spec, status, conditions, metadata);

        var restartsText = restarts.ToString(CultureInfo.InvariantCulture);
        if (restarts != 0 && lastRestart is { } last)
        {
            restartsText = restartsText + " (" + HumanDuration.Since(last, now) + " ago)";
        }

        // The internal PodStatus keeps only PodIPs; v1 conversion fills it from podIP when podIPs is empty.
        var podIP = JsonRead.Objects(JsonRead.Arr(status, "podIPs")).Select(p => JsonRead.Str(p, "ip")).FirstOrDefault()
            ?? JsonRead.Str(status, "podIP");

        return
        [
            JsonRead.Str(metadata, "name"),
            ready.ToString(CultureInfo.InvariantCulture) + "/" + total.ToString(CultureInfo.InvariantCulture),
            reason,
            restartsText,
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
            OrNone(podIP),
            OrNone(JsonRead.Str(spec, "nodeName")),
            OrNone(JsonRead.Str(status, "nominatedNodeName")),
            ReadinessGates(spec, conditions),
        ];
    }

    /// The row conditions printPod attaches: completed pods are marked so clients can de-emphasise them.
    public static JsonArray? RowConditions(JsonObject pod) =>
        JsonRead.Str(JsonRead.Obj(pod, "status"), "phase") switch
        {
            "Succeeded" => [Condition("Succeeded", "The pod has completed successfully.")],
            "Failed" => [Condition("Failed", "The pod failed.")],
            _ => null,
        };

    private static JsonObject Condition(string reason, string message) => new()
    {
        ["type"] = "Completed",
        ["status"] = "True",
        ["reason"] = reason,
        ["message"] = message,
    };

    private static (int Ready, int Total, string Reason, long Restarts, DateTimeOffset? LastRestart) Summarize(
        JsonObject? spec, JsonObject? status, JsonArray? conditions, JsonObject? metadata)
    {
        long restarts = 0;
        long restartableInitRestarts = 0;
        int total = JsonRead.Count(spec, "containers");
        int ready = 0;
        DateTimeOffset? lastRestart = null;
        DateTimeOffset? lastRestartableInitRestart = null;

        var phase = JsonRead.Str(status, "phase");
        var reason = phase;
        var statusReason = JsonRead.Str(status, "reason");
        if (statusReason.Length > 0)
        {
            reason = statusReason;
        }

        // A pod carrying {type: PodScheduled, reason: SchedulingGated} shows SchedulingGated.
        foreach (var condition in JsonRead.Objects(conditions))
        {
            if (JsonRead.Str(condition, "type") == "PodScheduled" && JsonRead.Str(condition, "reason") == "SchedulingGated")
            {
                reason = "SchedulingGated";
            }
        }

        var initContainers = JsonRead.Arr(spec, "initContainers");
        var restartableInit = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in JsonRead.Objects(initContainers))
        {
            // Sidecars (restartPolicy: Always) count as regular containers in READY.
            if (JsonRead.Str(c, "restartPolicy") == "Always")
            {
                restartableInit.Add(JsonRead.Str(c, "name"));
                total++;
            }
        }

        int initCount = initContainers?.Count ?? 0;
        bool initializing = false;
        int i = 0;
        foreach (var container in JsonRead.Objects(JsonRead.Arr(status, "initContainerStatuses")))
        {
            var index = i++;
            restarts += JsonRead.Int(container, "restartCount");
            var lastTerminated = JsonRead.Obj(JsonRead.Obj(container, "lastState"), "terminated");
            if (lastTerminated is not null)
            {
                lastRestart = Later(lastRestart, JsonRead.Time(lastTerminated, "finishedAt"));
            }

            bool isRestartable = restartableInit.Contains(JsonRead.Str(container, "name"));
            if (isRestartable)
            {
                restartableInitRestarts += JsonRead.Int(container, "restartCount");
                if (lastTerminated is not null)
                {
                    lastRestartableInitRestart = Later(lastRestartableInitRestart, JsonRead.Time(lastTerminated, "finishedAt"));
                }
            }

            var state = JsonRead.Obj(container, "state");
            var terminated = JsonRead.Obj(state, "terminated");
            var waiting = JsonRead.Obj(state, "waiting");
            if (terminated is not null && JsonRead.Int(terminated, "exitCode") == 0)
            {
                continue;
            }

            if (isRestartable && JsonRead.Bool(container, "started"))
            {
                if (JsonRead.Bool(container, "ready"))
                {
                    ready++;
                }

                continue;
            }

            if (terminated is not null)
            {
                // Initialization failed.
                var terminatedReason = JsonRead.Str(terminated, "reason");
                if (terminatedReason.Length == 0)
                {
                    var signal = JsonRead.Int(terminated, "signal");
                    reason = signal != 0
                        ? "Init:Signal:" + signal.ToString(CultureInfo.InvariantCulture)
                        : "Init:ExitCode:" + JsonRead.Int(terminated, "exitCode").ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    reason = "Init:" + terminatedReason;
                }
            }
            else if (waiting is not null && JsonRead.Str(waiting, "reason") is { Length: > 0 } waitingReason
                && waitingReason != "PodInitializing")
            {
                reason = "Init:" + waitingReason;
            }
            else
            {
                reason = "Init:" + index.ToString(CultureInfo.InvariantCulture) + "/" + initCount.ToString(CultureInfo.InvariantCulture);
            }

            initializing = true;
            break;
        }

        if (!initializing || IsInitializedConditionTrue(conditions))
        {
            restarts = restartableInitRestarts;
            lastRestart = lastRestartableInitRestart;
            bool hasRunning = false;
            var statuses = JsonRead.Arr(status, "containerStatuses");
            for (int j = (statuses?.Count ?? 0) - 1; j >= 0; j--)
            {
                if (statuses![j] is not JsonObject container)
                {
                    continue;
                }

                restarts += JsonRead.Int(container, "restartCount");
                var lastTerminated = JsonRead.Obj(JsonRead.Obj(container, "lastState"), "terminated");
                if (lastTerminated is not null)
                {
                    lastRestart = Later(lastRestart, JsonRead.Time(lastTerminated, "finishedAt"));
                }

                var state = JsonRead.Obj(container, "state");
                var waiting = JsonRead.Obj(state, "waiting");
                var terminated = JsonRead.Obj(state, "terminated");
                if (waiting is not null && JsonRead.Str(waiting, "reason").Length > 0)
                {
                    reason = JsonRead.Str(waiting, "reason");
                }
                else if (terminated is not null && JsonRead.Str(terminated, "reason").Length > 0)
                {
                    reason = JsonRead.Str(terminated, "reason");
                }
                else if (terminated is not null)
                {
                    var signal = JsonRead.Int(terminated, "signal");
                    reason = signal != 0
                        ? "Signal:" + signal.ToString(CultureInfo.InvariantCulture)
                        : "ExitCode:" + JsonRead.Int(terminated, "exitCode").ToString(CultureInfo.InvariantCulture);
                }
                else if (JsonRead.Bool(container, "ready") && JsonRead.Has(state, "running"))
                {
                    hasRunning = true;
                    ready++;
                }
            }

            // Back to "Running" while at least one container still reports running.
            if (reason == "Completed" && hasRunning)
            {
                reason = HasReadyCondition(conditions) ? "Running" : "NotReady";
            }
        }

        bool deleting = JsonRead.Has(metadata, "deletionTimestamp");
        if (deleting && statusReason == NodeUnreachablePodReason)
        {
            reason = "Unknown";
        }
        else if (deleting && phase is not ("Failed" or "Succeeded"))
        {
            reason = "Terminating";
        }

        return (ready, total, reason, restarts, lastRestart);
    }

    private static string ReadinessGates(JsonObject? spec, JsonArray? conditions)
    {
        var gates = JsonRead.Arr(spec, "readinessGates");
        if (gates is null || gates.Count == 0)
        {
            return "<none>";
        }

        int trueConditions = 0;
        foreach (var gate in JsonRead.Objects(gates))
        {
            var conditionType = JsonRead.Str(gate, "conditionType");
            foreach (var condition in JsonRead.Objects(conditions))
            {
                if (JsonRead.Str(condition, "type") == conditionType)
                {
                    if (JsonRead.Str(condition, "status") == "True")
                    {
                        trueConditions++;
                    }

                    break;
                }
            }
        }

        return trueConditions.ToString(CultureInfo.InvariantCulture) + "/" + gates.Count.ToString(CultureInfo.InvariantCulture);
    }

    private static bool IsInitializedConditionTrue(JsonArray? conditions)
    {
        foreach (var condition in JsonRead.Objects(conditions))
        {
            if (JsonRead.Str(condition, "type") == "Initialized")
            {
                return JsonRead.Str(condition, "status") == "True";
            }
        }

        return false;
    }

    private static bool HasReadyCondition(JsonArray? conditions)
    {
        foreach (var condition in JsonRead.Objects(conditions))
        {
            if (JsonRead.Str(condition, "type") == "Ready" && JsonRead.Str(condition, "status") == "True")
            {
                return true;
            }
        }

        return false;
    }

    // lastRestartDate.Before(&terminatedDate): an unset finishedAt is the zero time and never wins.
    private static DateTimeOffset? Later(DateTimeOffset? current, DateTimeOffset? candidate) =>
        candidate is { } c && (current is null || current.Value < c) ? c : current;

    private static string OrNone(string s) => s.Length == 0 ? "<none>" : s;
}
