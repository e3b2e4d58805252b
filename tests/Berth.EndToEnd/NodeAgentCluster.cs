using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.EndToEnd;

/// <summary>
/// A real `berth server` whose node agent runs pods as local processes, with the helpers the node agent tests
/// share: namespaces, pod and event polling, and a marker that every pod process of this cluster carries in its
/// environment (<see cref="MarkerEnv"/>), so a test can prove no process survived and disposal can end any that did.
/// </summary>
public sealed class NodeAgentCluster : IAsyncDisposable
{
    private readonly List<string> _tempDirs = [];
    private readonly string[] _serverArgs;
    private int _nextMarker;
    private BerthServer? _restartedFrom;

    private NodeAgentCluster(BerthServer server, string clusterCidr, string id, string[] serverArgs)
    {
        Server = server;
        ClusterCidr = clusterCidr;
        Id = id;
        _serverArgs = serverArgs;
        Kubectl = server.Kubectl();
    }

    public BerthServer Server { get; private set; }

    public Kubectl Kubectl { get; private set; }

    public string ClusterCidr { get; }

    /// <summary>Unique to this cluster: the prefix of every marker it hands out.</summary>
    public string Id { get; }

    public string NodeName { get; private set; } = "";

    public static string TestPod => Binaries.TestPod;

    /// <summary>Starts a server (with extra `berth server` flags, kept for restarts) and waits for its node to be Ready.</summary>
    public static async Task<NodeAgentCluster> StartAsync(params string[] serverArgs)
    {
        var server = await BerthServer.StartAsync(null, 0, serverArgs);
        var cidr = AddressBlocks.ClusterCidr(AddressBlocks.For(server.DataDir));
        var cluster = new NodeAgentCluster(server, cidr, "e2e" + Guid.NewGuid().ToString("N")[..12], serverArgs);
        try
        {
            cluster.NodeName = await cluster.WaitForReadyNodeAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>SIGKILLs the berth process alone (not its pods, which run in their own sessions) and starts it again on the same data dir.</summary>
    public async Task KillAndRestartServerAsync()
    {
        using (var process = Process.GetProcessById(Server.ProcessId))
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
        }
        // The first server owns the data dir (removed when it is disposed, after its successor).
        _restartedFrom ??= Server;
        Kubectl.Dispose();
        Server = await BerthServer.StartAsync(_restartedFrom.DataDir, 0, _serverArgs);
        Kubectl = Server.Kubectl();
        await WaitForReadyNodeAsync();
    }

    /// <summary>A new marker: put <see cref="MarkerEnv"/> into a container's env to find its processes in /proc.</summary>
    public string NewMarker() => $"{Id}-{Interlocked.Increment(ref _nextMarker)}";

    /// <summary>The YAML env entry (list item, at the given indent) that marks a container's processes.</summary>
    public static string MarkerEnv(string marker, int indent) =>
        $"{new string(' ', indent)}- name: BERTH_E2E_MARKER\n{new string(' ', indent)}  value: {marker}\n";

    /// <summary>A temp dir removed with the cluster.</summary>
    public string TempDir(string prefix)
    {
        var dir = TestDirectories.Create(prefix);
        lock (_tempDirs)
        {
            _tempDirs.Add(dir);
        }
        return dir;
    }

    public async Task<string> NamespaceAsync()
    {
        var ns = "na-" + Guid.NewGuid().ToString("N")[..10];
        await Kubectl.OkAsync($"create namespace {ns}");
        return ns;
    }

    public Task<string> ApplyAsync(string ns, string yaml) => Kubectl.OkAsync($"apply -n {ns} -f -", yaml);

    public async Task<JsonNode> GetPodAsync(string ns, string name) =>
        JsonNode.Parse(await Kubectl.OkAsync($"get pod {name} -n {ns} -o json"))!;

    /// <summary>Polls the pod until the condition holds; fails with the last pod seen and the server log.</summary>
    public async Task<JsonNode> WaitForPodAsync(string ns, string name, Func<JsonNode, bool> condition, string what, int timeoutSeconds = 60)
    {
        JsonNode? last = null;
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            last = await GetPodAsync(ns, name);
            if (condition(last))
            {
                return last;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"pod {ns}/{name}: timed out after {timeoutSeconds}s waiting for {what}; last seen status:\n{last["status"]}\nserver log tail:\n{Tail(Server.Output, 40)}");
            }
            await Task.Delay(250);
        }
    }

    public Task<JsonNode> WaitForReadyPodAsync(string ns, string name, int timeoutSeconds = 60) =>
        WaitForPodAsync(ns, name, p => Condition(p, "Ready") == "True", "Ready=True", timeoutSeconds);

    /// <summary>Polls until a condition holds (bounded), failing with the description.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, Func<string> what, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeoutSeconds}s waiting for {what()}");
            await Task.Delay(250);
        }
    }

    /// <summary>The events of a namespace as (type, reason, involved object name, message, fieldPath).</summary>
    public async Task<List<(string Type, string Reason, string Object, string Message, string FieldPath)>> EventsAsync(string ns)
    {
        var list = JsonNode.Parse(await Kubectl.OkAsync($"get events -n {ns} -o json"))!;
        return [.. list["items"]!.AsArray().Select(e => (
            Str(e!["type"]), Str(e["reason"]), Str(e["involvedObject"]?["name"]), Str(e["message"]), Str(e["involvedObject"]?["fieldPath"])))];
    }

    /// <summary>Waits for an event of the pod with this reason whose message satisfies the predicate.</summary>
    public async Task WaitForEventAsync(string ns, string pod, string reason, Func<string, bool> message, string what, int timeoutSeconds = 60)
    {
        List<(string Type, string Reason, string Object, string Message, string FieldPath)> events = [];
        await WaitForAsync(async () =>
        {
            events = await EventsAsync(ns);
            return events.Any(e => e.Object == pod && e.Reason == reason && message(e.Message));
        }, () => $"event {reason} ({what}) for pod {pod}; events:\n{string.Join('\n', events)}", timeoutSeconds);
    }

    public static string? Condition(JsonNode pod, string type) =>
        pod["status"]?["conditions"]?.AsArray().FirstOrDefault(c => Str(c!["type"]) == type)?["status"]?.GetValue<string>();

    public static JsonNode? ContainerStatus(JsonNode pod, string container, bool init = false) =>
        pod["status"]?[init ? "initContainerStatuses" : "containerStatuses"]?.AsArray().FirstOrDefault(c => Str(c!["name"]) == container);

    public static string Phase(JsonNode pod) => Str(pod["status"]?["phase"]);

    public static string Str(JsonNode? node) => node?.GetValue<string>() ?? "";

    public static int RestartCount(JsonNode pod, string container) => ContainerStatus(pod, container)?["restartCount"]?.GetValue<int>() ?? 0;

    /// <summary>The PIDs of live processes whose environment or command line contains the marker.</summary>
    public static List<int> ProcessesWith(string marker)
    {
        var self = Environment.ProcessId;
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self)
            {
                continue;
            }
            try
            {
                // A zombie has no environment left and is not running anything.
                if (File.ReadAllText(Path.Combine(dir, "stat")).Contains(") Z ", StringComparison.Ordinal))
                {
                    continue;
                }
                var env = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "environ")));
                var cmdline = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "cmdline")));
                if (env.Contains(marker, StringComparison.Ordinal) || cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours.
            }
        }
        return found;
    }

    /// <summary>Waits until no process carries the marker (bounded), failing with what is still there.</summary>
    public static async Task AssertNoProcessesAsync(string marker, int timeoutSeconds = 10)
    {
        List<int> left = [];
        await WaitForAsync(() => Task.FromResult((left = ProcessesWith(marker)).Count == 0),
            () => $"no process with marker {marker}; still running: {string.Join(", ", left.Select(Describe))}", timeoutSeconds);
    }

    public static string Describe(int pid)
    {
        try
        {
            return $"{pid} ({File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim()})";
        }
        catch (IOException)
        {
            return pid.ToString(CultureInfo.InvariantCulture);
        }
    }

    public static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private async Task<string> WaitForReadyNodeAsync()
    {
        var name = "";
        await WaitForAsync(async () =>
        {
            var result = await Kubectl.RunAsync("get nodes -o json");
            if (result.ExitCode != 0)
            {
                return false;
            }
            var ready = JsonNode.Parse(result.Stdout)!["items"]!.AsArray()
                .FirstOrDefault(n => n!["status"]?["conditions"]?.AsArray().Any(c => Str(c!["type"]) == "Ready" && Str(c["status"]) == "True") == true);
            name = Str(ready?["metadata"]?["name"]);
            return ready is not null;
        }, () => $"a Ready node; server log:\n{Tail(Server.Output, 40)}", 60);
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        Kubectl.Dispose();
        await Server.DisposeAsync();
        if (_restartedFrom is not null && _restartedFrom != Server)
        {
            await _restartedFrom.DisposeAsync();
        }
        // Whatever escaped the server's process tree (pods orphaned by a killed agent) is ended here.
        foreach (var pid in ProcessesWith("BERTH_E2E_MARKER=" + Id))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
        List<string> dirs;
        lock (_tempDirs)
        {
            dirs = [.. _tempDirs];
        }
        foreach (var dir in dirs)
        {
            TestDirectories.Delete(dir);
        }
    }
}

/// <summary>One node-agent cluster shared by the tests of a class (each test uses its own namespace and markers).</summary>
public sealed class NodeAgentFixture : IAsyncLifetime
{
    public NodeAgentCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await NodeAgentCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
