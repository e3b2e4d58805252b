using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Berth.Tests;
using Xunit.Abstractions;
using static Berth.EndToEnd.EndpointManifests;
using static Berth.EndToEnd.EndpointReads;
using static Berth.EndToEnd.NodeAgentCluster;
using static Berth.EndToEnd.Workloads;

namespace Berth.EndToEnd;

/// <summary>
/// EndpointSlices, Endpoints, mirroring and the empty Service explained, through the real kubectl against
/// `berth server`'s controllers, with pods that are real local processes whose readiness the tests flip.
/// Expectations are upstream's (kubernetes v1.32 endpointslice, endpoint and endpointslicemirroring controllers,
/// kubectl 1.32's describe and the server's table printers); the EndpointsReady condition is Berth's own.
/// </summary>
public sealed class EndpointTests : IClassFixture<NodeAgentFixture>, IDisposable
{
    // upstream rand.SafeEncodeString's alphabet: the 5-character suffix of a generateName.
    private const string SafeChars = "[bcdfghjklmnpqrstvwxz2456789]";
    private const int Deadline = 60;

    private readonly NodeAgentCluster _cluster;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    // A fresh HOME and discovery cache per test (xunit makes an instance per test); the cluster is the class's.
    private readonly Kubectl _kubectl;

    public EndpointTests(NodeAgentFixture fixture, ITestOutputHelper output)
    {
        _cluster = fixture.Cluster;
        _output = output;
        _kubectl = _cluster.Server.Kubectl();
    }

    [Fact]
    public async Task Deployment_ScaledZeroOneThreeOneZero_OneSliceUpdatedInPlaceAndEndpointsListExactlyTheReadyPods()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        // A named targetPort: the slice must carry the number the pods' container port resolves it to. The preStop
        // hook keeps a removed pod terminating for 3 s, long enough to see it listed as such.
        await ApplyAsync(ns, Deployment("web", 0, marker, HttpReadiness("http"), container: """
            lifecycle:
              preStop:
                exec: {command: [sh, -c, "sleep 3"]}
            """) + "\n---\n" + Service("web", "web", "http"));
        var service = await GetAsync(_kubectl, $"svc web -n {ns}");

        string? sliceName = null;
        var previous = 0;
        foreach (var replicas in new[] { 0, 1, 3, 1, 0 })
        {
            if (sliceName is not null)
            {
                Assert.Equal("deployment.apps/web scaled\n", await _kubectl.OkAsync($"scale deployment/web --replicas={replicas} -n {ns}"));
            }
            var step = $"step {previous}→{replicas}";
            if (replicas < previous)
            {
                // Upstream keeps terminating pods in the slice (terminating, so not ready), while its Endpoints
                // controller leaves them out at once (no publishNotReadyAddresses).
                var draining = (await WaitForSlicesAsync(ns, "web", s => s.Count == 1 && Endpoints(s[0]).Count(e => e.Terminating == true) == previous - replicas,
                    $"{step}: {previous - replicas} endpoints terminating"))[0];
                Assert.Equal(sliceName, Name(draining));
                Assert.All(Endpoints(draining).Where(e => e.Terminating == true), e => Assert.False(e.Ready));
                var leaving = Endpoints(draining).Where(e => e.Terminating == true).Select(e => e.Ip).ToHashSet(StringComparer.Ordinal);
                var staying = Endpoints(draining).Where(e => e.Terminating != true).Select(e => $"{e.Ip}:8080").ToHashSet(StringComparer.Ordinal);
                await WaitForEndpointsAsync(ns, "web", e => Addresses(e).Ready.SetEquals(staying) && Addresses(e).NotReady.Count == 0,
                    $"{step}: Endpoints web without the terminating pods {string.Join(",", leaving)}");
                var stillTerminating = (await PodsAsync(_kubectl, ns, "web")).Where(IsTerminating).Select(PodIP).ToHashSet(StringComparer.Ordinal);
                Assert.True(leaving.IsSubsetOf(stillTerminating), $"{step}: pods {string.Join(",", leaving)} ended before the Endpoints could be seen without them");
            }
            var pods = await WaitForSettledPodsAsync(ns, "web", replicas);
            var ips = pods.Select(PodIP).ToHashSet(StringComparer.Ordinal);

            var slices = await WaitForSlicesAsync(ns, "web",
                s => s.Count == 1 && Endpoints(s[0]).Select(e => e.Ip).ToHashSet().SetEquals(ips) && Endpoints(s[0]).All(e => e.Ready == true),
                $"{step}: one slice listing exactly the ready pods {string.Join(",", ips)}");
            var slice = slices[0];
            AssertSliceOf(slice, service, []);
            // Upstream's reconciler turns "delete the old slice, create a new one" into an update of the old one
            // (finalize), the placeholder included: one slice, one name, from 0 to 3 and back.
            Assert.True(sliceName is null || sliceName == Name(slice), $"{step}: slice {Name(slice)} replaced {sliceName}");
            sliceName = Name(slice);
            if (replicas == 0)
            {
                Assert.Empty(Endpoints(slice));
                Assert.Empty(Ports(slice));
            }
            else
            {
                Assert.Equal([("", 8080, "TCP")], Ports(slice));
                foreach (var pod in pods)
                {
                    AssertPodEndpoint(Endpoints(slice).Single(e => e.Ip == PodIP(pod)), pod, ready: true, serving: true, terminating: false);
                }
            }

            var expected = ips.Select(ip => $"{ip}:8080").ToHashSet(StringComparer.Ordinal);
            var endpoints = await WaitForEndpointsAsync(ns, "web", e => e is not null && Addresses(e).Ready.SetEquals(expected) && Addresses(e).NotReady.Count == 0,
                $"{step}: Endpoints web with addresses {string.Join(",", expected)}");
            AssertEndpointsOfPods(endpoints!, pods, [], 8080);

            if (replicas == 1 && previous == 0)
            {
                // The last change was the pod becoming Ready: upstream's trigger time is that transition.
                var readySince = Str(pods[0]["status"]!["conditions"]!.AsArray().Single(c => Str(c!["type"]) == "Ready")!["lastTransitionTime"]);
                Assert.Equal(readySince, Annotation(endpoints!, TriggerTimeAnnotation));
                Assert.Equal(readySince, Annotation(slice, TriggerTimeAnnotation));
            }

            var sliceTable = await _kubectl.OkAsync($"get endpointslices -n {ns} -l {ServiceNameLabel}=web");
            Assert.Matches(@"^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n", sliceTable);
            var row = Row(sliceTable, sliceName);
            Assert.Equal(5, row.Length);
            Assert.Equal(
                ["IPv4", replicas == 0 ? "<unset>" : "8080", replicas == 0 ? "<unset>" : string.Join(',', Endpoints(slice).Select(e => e.Ip))],
                row[1..4]);
            Assert.Matches(Age(), row[4]);

            var endpointsRow = Row(await _kubectl.OkAsync($"get endpoints web -n {ns}"), "web");
            Assert.Equal(3, endpointsRow.Length);
            Assert.Matches(Age(), endpointsRow[2]);
            // kubectl 1.32 describes a Service from its EndpointSlices: ready endpoints as ip:port, and nothing
            // at all (not <none>) when the only slice is the empty placeholder.
            var described = await DescribedEndpointsAsync(_kubectl, ns, "web");
            if (replicas == 0)
            {
                Assert.Equal("<none>", endpointsRow[1]);
                Assert.Equal("", described);
            }
            else
            {
                Assert.Equal(expected, CommaSet(endpointsRow[1]));
                Assert.Equal(expected, CommaSet(described));
            }
            previous = replicas;
        }
    }

    [Fact]
    public async Task ReadinessProbeFlips_EndpointNotReadyInTheSameSliceAndBack_ServiceExplainsThenClears()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        var flag = Path.Combine(_cluster.TempDir("ready-flag"), "ready");
        await File.WriteAllTextAsync(flag, "");
        await ApplyAsync(ns, Deployment("flip", 1, marker, ExecReadiness($"test -f {flag} || {{ printf 'no ready file'; exit 1; }}")));
        var pod = Assert.Single(await WaitForSettledPodsAsync(ns, "flip", 1));
        var ip = PodIP(pod);
        // Created once its pod is Ready, the Service never lacks endpoints until the probe fails: no condition yet.
        await ApplyAsync(ns, Service("flip", "flip", "8080"));
        var service = await GetAsync(_kubectl, $"svc flip -n {ns}");
        var expected = $"{ip}:8080";

        var ready = (await WaitForSlicesAsync(ns, "flip", s => s.Count == 1 && IsOnly(s[0], ip, ready: true), $"one slice with {ip} ready"))[0];
        AssertSliceOf(ready, service, []);
        AssertPodEndpoint(Endpoints(ready)[0], pod, ready: true, serving: true, terminating: false);
        await WaitForEndpointsAsync(ns, "flip", e => Addresses(e).Ready.SetEquals([expected]) && Addresses(e).NotReady.Count == 0, $"Endpoints flip with {expected} ready");
        Assert.Null(await DiagnosisAsync(_kubectl, ns, "flip"));

        File.Delete(flag);
        var unready = (await WaitForSlicesAsync(ns, "flip", s => s.Count == 1 && IsOnly(s[0], ip, ready: false), $"the slice with {ip} not ready"))[0];
        Assert.Equal(Name(ready), Name(unready));
        AssertSliceOf(unready, service, []);
        AssertPodEndpoint(Endpoints(unready)[0], pod, ready: false, serving: false, terminating: false);
        var endpoints = await WaitForEndpointsAsync(ns, "flip", e => Addresses(e).Ready.Count == 0 && Addresses(e).NotReady.SetEquals([expected]),
            $"Endpoints flip with {expected} in notReadyAddresses");
        AssertEndpointsOfPods(endpoints!, [], [pod], 8080);
        Assert.Equal("", await DescribedEndpointsAsync(_kubectl, ns, "flip"));

        var why = "1 pod matches app=flip, 0 ready (readiness probe failed: no ready file)";
        await WaitForDiagnosisAsync(ns, "flip", "False", "NoReadyPods", why);
        await WaitForServiceEventAsync(ns, "flip", "Warning", "NoEndpoints", why);
        Assert.Matches($@"(?m)^\s+Warning\s+NoEndpoints\s+.+?\s+service-diagnosis\s+{Regex.Escape(why)}$", await _kubectl.OkAsync($"describe svc flip -n {ns}"));

        await File.WriteAllTextAsync(flag, "");
        var back = (await WaitForSlicesAsync(ns, "flip", s => s.Count == 1 && IsOnly(s[0], ip, ready: true), $"the slice with {ip} ready again"))[0];
        Assert.Equal(Name(ready), Name(back));
        AssertPodEndpoint(Endpoints(back)[0], pod, ready: true, serving: true, terminating: false);
        await WaitForEndpointsAsync(ns, "flip", e => Addresses(e).Ready.SetEquals([expected]) && Addresses(e).NotReady.Count == 0, $"Endpoints flip with {expected} ready again");
        Assert.Equal(expected, await DescribedEndpointsAsync(_kubectl, ns, "flip"));
        await WaitForDiagnosisAsync(ns, "flip", "True", "EndpointsReady", null);
        await WaitForServiceEventAsync(ns, "flip", "Normal", "EndpointsReady", null);

        // One explanation, no noise: the flip is the only time this Service lacked endpoints.
        var warnings = (await ServiceEventsAsync(_kubectl, ns, "flip")).Where(e => e.Reason == "NoEndpoints").ToList();
        Assert.Equal([("Warning", why)], warnings.Select(e => (e.Type, e.Message)));
        // The probe flipped readiness only: the same pod, never restarted.
        var after = Assert.Single(await PodsAsync(_kubectl, ns, "flip"));
        Assert.Equal(Name(pod), Name(after));
        Assert.Equal(0, RestartCount(after, "app"));
        await DeleteAsync(ns, "deployment/flip");
    }

    [Fact]
    public async Task KiaExternalService_EndpointsMirroredIntoOneSlice_EditFollowedAndDeleteRemovesIt()
    {
        var ns = await NamespaceAsync();
        var svcFile = SharedTestData.Path("kia-ch11", "Chapter11", "svc.external-service.yaml");
        var epFile = SharedTestData.Path("kia-ch11", "Chapter11", "ep.external-service.yaml");
        await _kubectl.OkAsync($"apply -n {ns} -f {svcFile} -f {epFile}");

        var mirrored = await WaitForMirroredSliceAsync(ns, [("1.1.1.1", true), ("2.2.2.2", true)], "1.1.1.1 and 2.2.2.2 mirrored");
        var endpoints = await GetAsync(_kubectl, $"endpoints external-service -n {ns}");
        AssertMirroredSlice(mirrored, endpoints);
        // A Service without a selector gets no slices of the EndpointSlice controller's, not even a placeholder.
        Assert.Equal([Name(mirrored)], (await SlicesAsync(_kubectl, ns, "external-service")).Select(Name));

        var row = Row(await _kubectl.OkAsync($"get endpointslices -n {ns}"), Name(mirrored));
        Assert.Equal(["IPv4", "88", "1.1.1.1,2.2.2.2"], row[1..4]);
        Assert.Matches(Age(), row[4]);
        Assert.Equal("1.1.1.1:88,2.2.2.2:88", Row(await _kubectl.OkAsync($"get endpoints external-service -n {ns}"), "external-service")[1]);
        Assert.Equal(new HashSet<string> { "1.1.1.1:88", "2.2.2.2:88" }, CommaSet(await DescribedEndpointsAsync(_kubectl, ns, "external-service")));

        // The API server's own Endpoints carry skip-mirror: default/kubernetes keeps exactly its one slice.
        Assert.Equal(["kubernetes"], (await SlicesAsync(_kubectl, "default", "kubernetes")).Select(Name));

        // A slice someone else manages for the same Service: neither controller may touch it.
        await _kubectl.OkAsync($"apply -n {ns} -f -", """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: external-service-manual
              labels:
                kubernetes.io/service-name: external-service
                endpointslice.kubernetes.io/managed-by: manual.example.com
            addressType: IPv4
            endpoints:
            - addresses: [5.5.5.5]
            ports:
            - name: http
              port: 88
            """);
        var manual = await GetAsync(_kubectl, $"endpointslice external-service-manual -n {ns}");

        var original = await File.ReadAllTextAsync(epFile);
        var changed = original.Replace("  - ip: 2.2.2.2\n", "  - ip: 3.3.3.3\n  notReadyAddresses:\n  - ip: 4.4.4.4\n", StringComparison.Ordinal);
        Assert.NotEqual(original, changed);
        var changedFile = Path.Combine(_cluster.TempDir("kia-edit"), "ep.external-service.yaml");
        await File.WriteAllTextAsync(changedFile, changed);
        Assert.Contains("endpoints/external-service configured", await _kubectl.OkAsync($"apply -n {ns} -f {changedFile}"));
        var edited = await WaitForMirroredSliceAsync(ns, [("1.1.1.1", true), ("3.3.3.3", true), ("4.4.4.4", false)], "the edit mirrored");
        Assert.Equal(Name(mirrored), Name(edited));
        AssertMirroredSlice(edited, await GetAsync(_kubectl, $"endpoints external-service -n {ns}"));

        Assert.Equal("endpoints \"external-service\" deleted\n", await _kubectl.OkAsync($"delete endpoints external-service -n {ns}"));
        var left = await WaitForSlicesAsync(ns, "external-service", s => s.All(x => Str(x["metadata"]!["labels"]?[ManagedByLabel]) != MirroringController),
            "no mirrored slice once the Endpoints are gone");
        var kept = Assert.Single(left);
        Assert.Equal("external-service-manual", Name(kept));
        Assert.Equal(Str(manual["metadata"]!["resourceVersion"]), Str(kept["metadata"]!["resourceVersion"]));
        await _kubectl.OkAsync($"get svc external-service -n {ns}");

        // The user's Endpoints were the source, not a target: as mirrored, they were as applied (with upstream's
        // stored default protocol), no controller had rewritten them.
        Assert.Equal(
            """[{"addresses":[{"ip":"1.1.1.1"},{"ip":"2.2.2.2"}],"ports":[{"name":"http","port":88,"protocol":"TCP"}]}]""",
            endpoints["subsets"]!.ToJsonString());
    }

    /// <summary>
    /// The common hand-written Endpoints and EndpointSlices: one port, no name, no protocol. Upstream stores the v1
    /// defaults (an Endpoints port's protocol TCP; a slice port's name "" and protocol TCP), and kubectl relies on
    /// them: describe dereferences every slice port's name.
    /// </summary>
    [Fact]
    public async Task SelectorlessService_UnnamedPorts_StoredWithUpstreamDefaultsAndDescribable()
    {
        var ns = await NamespaceAsync();
        await ApplyAsync(ns, """
            apiVersion: v1
            kind: Service
            metadata: {name: plain}
            spec:
              ports:
              - port: 80
            ---
            apiVersion: v1
            kind: Endpoints
            metadata: {name: plain}
            subsets:
            - addresses: [{ip: 1.1.1.1}]
              ports: [{port: 88}]
            """);
        var mirrored = Assert.Single(await WaitForSlicesAsync(ns, "plain", s => s.Count == 1 && Endpoints(s[0]).Count == 1, "the mirrored slice"));
        Assert.Equal([("", 88, "TCP")], Ports(mirrored));
        Assert.Equal("1.1.1.1:88", await DescribedEndpointsAsync(_kubectl, ns, "plain"));

        await ApplyAsync(ns, """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: plain-manual
              labels:
                kubernetes.io/service-name: plain
                endpointslice.kubernetes.io/managed-by: manual.example.com
            addressType: IPv4
            endpoints:
            - addresses: [1.1.1.2]
            ports:
            - port: 88
            """);
        Assert.Equal([("", 88, "TCP")], Ports(await GetAsync(_kubectl, $"endpointslice plain-manual -n {ns}")));
        var described = await _kubectl.RunAsync($"describe svc plain -n {ns}");
        Assert.True(described.ExitCode == 0, $"kubectl describe svc plain: {described}");
        Assert.Equal(new HashSet<string> { "1.1.1.1:88", "1.1.1.2:88" }, CommaSet(await DescribedEndpointsAsync(_kubectl, ns, "plain")));

        Assert.Equal("""[{"port":88,"protocol":"TCP"}]""", (await GetAsync(_kubectl, $"endpoints plain -n {ns}"))["subsets"]![0]!["ports"]!.ToJsonString());
    }

    [Fact]
    public async Task EmptyService_NoPodMatches_WarningEventAndConditionSaySoAndAPlaceholderSliceExists()
    {
        var ns = await NamespaceAsync();
        Assert.Equal("service/nothing created\n", await _kubectl.OkAsync($"create service clusterip nothing --tcp=80:8080 -n {ns}"));
        var service = await GetAsync(_kubectl, $"svc nothing -n {ns}");
        Assert.Equal("""{"app":"nothing"}""", service["spec"]!["selector"]!.ToJsonString());

        var why = "no pods match selector app=nothing";
        await WaitForDiagnosisAsync(ns, "nothing", "False", "NoMatchingPods", why);
        await WaitForServiceEventAsync(ns, "nothing", "Warning", "NoEndpoints", why);
        Assert.Matches($@"(?m)^\s+Warning\s+NoEndpoints\s+.+?\s+service-diagnosis\s+{Regex.Escape(why)}$", await _kubectl.OkAsync($"describe svc nothing -n {ns}"));

        // kubectl create service labels the Service app=nothing; its slices copy the Service's labels.
        var placeholder = Assert.Single(await WaitForSlicesAsync(ns, "nothing", s => s.Count == 1, "the placeholder slice"));
        AssertSliceOf(placeholder, service, new() { ["app"] = "nothing" });
        Assert.Empty(Endpoints(placeholder));
        Assert.Empty(Ports(placeholder));
        var endpoints = await WaitForEndpointsAsync(ns, "nothing", e => e is not null, "Endpoints nothing");
        Assert.Empty(Elements(endpoints!["subsets"]));
    }

    [Fact]
    public async Task EmptyService_PodsFailTheirReadinessProbe_ConditionQuotesTheProbe()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Deployment("sick", 2, marker, ExecReadiness("printf 'warming up'; exit 1")));
        var pods = await WaitForActivePodsAsync(_cluster, ns, "sick", p => p.Count == 2 && p.All(x => Phase(x) == "Running" && PodIP(x) != ""), "2 Running pods with IPs");
        foreach (var pod in pods)
        {
            await _cluster.WaitForEventAsync(ns, Name(pod), "Unhealthy", m => m == "Readiness probe failed: warming up", "readiness failure");
        }
        // Created after the probes failed: the first verdict already has the probe's answer, so it is the only one.
        await ApplyAsync(ns, Service("sick", "sick", "http"));
        var service = await GetAsync(_kubectl, $"svc sick -n {ns}");

        var why = "2 pods match app=sick, 0 ready (readiness probe failed: warming up)";
        await WaitForDiagnosisAsync(ns, "sick", "False", "NoReadyPods", why);
        await WaitForServiceEventAsync(ns, "sick", "Warning", "NoEndpoints", why);
        Assert.Matches($@"(?m)^\s+Warning\s+NoEndpoints\s+.+?\s+service-diagnosis\s+{Regex.Escape(why)}$", await _kubectl.OkAsync($"describe svc sick -n {ns}"));
        Assert.Equal([why], (await ServiceEventsAsync(_kubectl, ns, "sick")).Where(e => e.Reason == "NoEndpoints").Select(e => e.Message));

        // Not-ready pods are still endpoints, marked so.
        var ips = pods.Select(PodIP).ToHashSet(StringComparer.Ordinal);
        var slice = Assert.Single(await WaitForSlicesAsync(ns, "sick", s => s.Count == 1 && Endpoints(s[0]).Select(e => e.Ip).ToHashSet().SetEquals(ips),
            "one slice with both pods"));
        AssertSliceOf(slice, service, []);
        foreach (var pod in pods)
        {
            AssertPodEndpoint(Endpoints(slice).Single(e => e.Ip == PodIP(pod)), pod, ready: false, serving: false, terminating: false);
        }
        var endpoints = await WaitForEndpointsAsync(ns, "sick", e => Addresses(e).NotReady.Count == 2, "Endpoints sick with two notReadyAddresses");
        AssertEndpointsOfPods(endpoints!, [], pods, 8080);
        await DeleteAsync(ns, "deployment/sick");
    }

    [Fact]
    public async Task EmptyService_TargetPortNameNotOnThePods_ConditionSaysSoAndClearsOnceFixed()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Deployment("tp", 1, marker, HttpReadiness("web"), portName: "web"));
        var pod = Assert.Single(await WaitForSettledPodsAsync(ns, "tp", 1));
        var ip = PodIP(pod);
        await ApplyAsync(ns, Service("tp", "tp", "http"));
        var service = await GetAsync(_kubectl, $"svc tp -n {ns}");

        var why = $"targetPort \"http\" is not a port of pod {Name(pod)}";
        await WaitForDiagnosisAsync(ns, "tp", "False", "TargetPortNotFound", why);
        await WaitForServiceEventAsync(ns, "tp", "Warning", "NoEndpoints", why);
        // Upstream getEndpointPorts skips a Service port the pod lacks: the pod is an endpoint with no ports,
        // and the Endpoints controller, which needs a port per address, lists nothing.
        var portless = Assert.Single(await WaitForSlicesAsync(ns, "tp", s => s.Count == 1 && IsOnly(s[0], ip, ready: true), $"one slice with {ip}"));
        Assert.Empty(Ports(portless));
        var endpoints = await WaitForEndpointsAsync(ns, "tp", e => e is not null, "Endpoints tp");
        Assert.Empty(Elements(endpoints!["subsets"]));

        await _kubectl.OkAsync($$"""patch svc tp -n {{ns}} --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":"web"}]'""");
        var fixedSlice = Assert.Single(await WaitForSlicesAsync(ns, "tp", s => s.Count == 1 && Ports(s[0]).Count == 1 && IsOnly(s[0], ip, ready: true), "the slice with port 8080"));
        Assert.Equal(Name(portless), Name(fixedSlice));
        AssertSliceOf(fixedSlice, service, []);
        Assert.Equal([("", 8080, "TCP")], Ports(fixedSlice));
        await WaitForEndpointsAsync(ns, "tp", e => Addresses(e).Ready.SetEquals([$"{ip}:8080"]), $"Endpoints tp with {ip}:8080");
        await WaitForDiagnosisAsync(ns, "tp", "True", "EndpointsReady", null);
        await WaitForServiceEventAsync(ns, "tp", "Normal", "EndpointsReady", null);
    }

    [Fact]
    public async Task NamedTargetPort_DifferentNumbersOnTwoPods_OneSlicePerPortAndOneSubsetEach()
    {
        var ns = await NamespaceAsync();
        var marker = _cluster.NewMarker();
        await ApplyAsync(ns, Pod("multi-a", "multi", marker, HttpReadiness("http"), "http", 8080) + "\n---\n"
            + Pod("multi-b", "multi", marker, HttpReadiness("http"), "http", 8081));
        var a = await _cluster.WaitForReadyPodAsync(ns, "multi-a");
        var b = await _cluster.WaitForReadyPodAsync(ns, "multi-b");
        await ApplyAsync(ns, Service("multi", "multi", "http"));
        var service = await GetAsync(_kubectl, $"svc multi -n {ns}");

        var byPort = new Dictionary<int, JsonNode> { [8080] = a, [8081] = b };
        var slices = await WaitForSlicesAsync(ns, "multi",
            s => s.Count == 2 && byPort.All(p => s.Any(x => Ports(x).Count == 1 && Ports(x)[0].Port == p.Key && IsOnly(x, PodIP(p.Value), ready: true))),
            $"two slices: {PodIP(a)} on 8080 and {PodIP(b)} on 8081");
        Assert.NotEqual(Name(slices[0]), Name(slices[1]));
        var table = await _kubectl.OkAsync($"get endpointslices -n {ns}");
        foreach (var slice in slices)
        {
            AssertSliceOf(slice, service, []);
            var port = Ports(slice)[0].Port;
            Assert.Equal([("", port, "TCP")], Ports(slice));
            AssertPodEndpoint(Endpoints(slice)[0], byPort[port], ready: true, serving: true, terminating: false);
            Assert.Equal(["IPv4", port.ToString(System.Globalization.CultureInfo.InvariantCulture), PodIP(byPort[port])], Row(table, Name(slice))[1..4]);
        }

        var expected = new HashSet<string> { $"{PodIP(a)}:8080", $"{PodIP(b)}:8081" };
        var endpoints = await WaitForEndpointsAsync(ns, "multi", e => Addresses(e).Ready.SetEquals(expected), $"Endpoints multi with {string.Join(",", expected)}");
        var subsets = Elements(endpoints!["subsets"]);
        Assert.Equal(2, subsets.Count);
        Assert.All(subsets, s => Assert.True(Elements(s["addresses"]).Count == 1 && Elements(s["ports"]).Count == 1, $"subset {s.ToJsonString()}"));
        AssertEndpointsOfPods(endpoints, [a, b], [], null);
        Assert.Equal(expected, CommaSet(Row(await _kubectl.OkAsync($"get endpoints multi -n {ns}"), "multi")[1]));
        Assert.Equal(expected, CommaSet(await DescribedEndpointsAsync(_kubectl, ns, "multi")));

        // The slices go with their owner (garbage collector), the Endpoints with their Service (Endpoints controller).
        await _kubectl.OkAsync($"delete svc multi -n {ns}");
        await WaitForSlicesAsync(ns, "multi", s => s.Count == 0, "no slices of the deleted Service");
        await WaitForEndpointsAsync(ns, "multi", e => e is null, "no Endpoints of the deleted Service");
    }

    private async Task<string> NamespaceAsync()
    {
        var ns = "ep-" + Guid.NewGuid().ToString("N")[..10];
        await _kubectl.OkAsync($"create namespace {ns}");
        return ns;
    }

    private Task<string> ApplyAsync(string ns, string yaml) => _kubectl.OkAsync($"apply -n {ns} -f -", yaml);

    // Stops pods whose probes would otherwise keep failing (and logging) for the rest of the class's run.
    private Task<string> DeleteAsync(string ns, string what) => _kubectl.OkAsync($"delete {what} -n {ns} --wait=false");

    private static string PodIP(JsonNode pod) => Str(pod["status"]?["podIP"]);

    /// <summary>Exactly <paramref name="count"/> pods of the app, none terminating, all Running and Ready.</summary>
    private async Task<List<JsonNode>> WaitForSettledPodsAsync(string ns, string app, int count)
    {
        List<JsonNode> pods = [];
        await WaitForAsync(async () =>
        {
            pods = await PodsAsync(_kubectl, ns, app);
            return pods.Count == count && pods.All(p => !IsTerminating(p) && IsRunningAndReady(p) && PodIP(p) != "");
        }, () => $"exactly {count} Running and Ready pods of {app}, none terminating\n{Context(ns, app)}", Deadline);
        return pods;
    }

    /// <summary>
    /// Polls the Service's slices until the condition holds. Every snapshot of a slice this controller manages
    /// must say ready = serving and not terminating (upstream podToEndpoint without publishNotReadyAddresses).
    /// </summary>
    private async Task<List<JsonNode>> WaitForSlicesAsync(string ns, string service, Func<List<JsonNode>, bool> condition, string what)
    {
        List<JsonNode> slices = [];
        await WaitForAsync(async () =>
        {
            slices = await SlicesAsync(_kubectl, ns, service);
            foreach (var slice in slices.Where(s => Str(s["metadata"]!["labels"]?[ManagedByLabel]) == SliceController))
            {
                foreach (var e in Endpoints(slice))
                {
                    Assert.True(e.Ready == (e.Serving == true && e.Terminating != true), $"endpoint {e.Node.ToJsonString()} of slice {Name(slice)}: ready must be serving && !terminating");
                }
            }
            return condition(slices);
        }, () => $"{what}; last seen:\n{Render(slices)}\n{Context(ns, service)}", Deadline);
        return slices;
    }

    private async Task<JsonNode?> WaitForEndpointsAsync(string ns, string name, Func<JsonNode?, bool> condition, string what)
    {
        JsonNode? endpoints = null;
        await WaitForAsync(async () => condition(endpoints = await EndpointsAsync(_kubectl, ns, name)),
            () => $"{what}; last seen:\n{endpoints?.ToJsonString() ?? "(none)"}\n{Context(ns, name)}", Deadline);
        return endpoints;
    }

    /// <summary>The one slice of external-service that mirroring manages, once it lists exactly these (ip, ready).</summary>
    private async Task<JsonNode> WaitForMirroredSliceAsync(string ns, (string Ip, bool Ready)[] expected, string what)
    {
        var slices = await WaitForSlicesAsync(ns, "external-service", s =>
        {
            var mirrored = s.Where(x => Str(x["metadata"]!["labels"]?[ManagedByLabel]) == MirroringController).ToList();
            return mirrored.Count == 1 && Endpoints(mirrored[0]).Select(e => (e.Ip, e.Ready ?? true)).ToHashSet().SetEquals(expected);
        }, what);
        return slices.Single(x => Str(x["metadata"]!["labels"]?[ManagedByLabel]) == MirroringController);
    }

    /// <summary>Polls `kubectl get svc -o jsonpath` until the EndpointsReady condition has this status, reason and (unless null) message.</summary>
    private async Task WaitForDiagnosisAsync(string ns, string service, string status, string reason, string? message)
    {
        JsonNode? condition = null;
        await WaitForAsync(async () =>
        {
            condition = await DiagnosisAsync(_kubectl, ns, service);
            return Str(condition?["status"]) == status && Str(condition?["reason"]) == reason && (message is null || Str(condition?["message"]) == message);
        }, () => $"condition EndpointsReady={status} reason {reason} message {message ?? "(any)"} on Service {service}; last seen: {condition?.ToJsonString() ?? "(none)"}\n{Context(ns, service)}", Deadline);
        Assert.NotEqual("", Str(condition!["lastTransitionTime"]));
    }

    private async Task WaitForServiceEventAsync(string ns, string service, string type, string reason, string? message)
    {
        List<(string Type, string Reason, string Message, int Count, string Source)> events = [];
        await WaitForAsync(async () =>
        {
            events = await ServiceEventsAsync(_kubectl, ns, service);
            return events.Any(e => e.Type == type && e.Reason == reason && (message is null || e.Message == message) && e.Source == "service-diagnosis");
        }, () => $"{type} event {reason} from service-diagnosis ({message ?? "any message"}) about Service {service}; have:\n{string.Join('\n', events)}", Deadline);
    }

    /// <summary>What a test failure shows: the namespace's workloads, slices, Endpoints and events, and the server's log tail.</summary>
    private string Context(string ns, string service)
    {
        var slices = _kubectl.RunAsync($"get endpointslices -n {ns} -o wide").GetAwaiter().GetResult();
        var endpoints = _kubectl.RunAsync($"get endpoints {service} -n {ns} -o json").GetAwaiter().GetResult();
        var events = _kubectl.RunAsync($"get events -n {ns}").GetAwaiter().GetResult();
        return $"pods:\n{Summary(_kubectl, ns).GetAwaiter().GetResult()}\nslices:\n{slices.Stdout}{slices.Stderr}\nendpoints:\n{endpoints.Stdout}{endpoints.Stderr}\n"
            + $"events:\n{events.Stdout}{events.Stderr}\nserver log tail:\n{Tail(_cluster.Server.Output, 40)}";
    }

    private static bool IsOnly(JsonNode slice, string ip, bool ready) =>
        Endpoints(slice) is [var only] && only.Ip == ip && only.Ready == ready;

    /// <summary>
    /// What upstream's EndpointSlice controller writes for a Service: generateName "NAME-", the Service's labels
    /// plus the service-name and managed-by labels, the Service as controller owner, IPv4.
    /// </summary>
    private static void AssertSliceOf(JsonNode slice, JsonNode service, Dictionary<string, string> serviceLabels)
    {
        var name = Name(service);
        Assert.Matches($"^{Regex.Escape(name)}-{SafeChars}{{5}}$", Name(slice));
        var labels = new SortedDictionary<string, string>(serviceLabels, StringComparer.Ordinal) { [ServiceNameLabel] = name, [ManagedByLabel] = SliceController };
        Assert.Equal(labels, new SortedDictionary<string, string>(
            slice["metadata"]!["labels"]!.AsObject().ToDictionary(l => l.Key, l => Str(l.Value)), StringComparer.Ordinal));
        AssertControllerOwner(slice, "Service", service);
        Assert.Equal("IPv4", Str(slice["addressType"]));
    }

    /// <summary>upstream podToEndpoint: the pod's IP, its conditions, nodeName and a Pod targetRef; no hostname (no subdomain), no zone (the node has none).</summary>
    private static void AssertPodEndpoint(SliceEndpoint endpoint, JsonNode pod, bool ready, bool serving, bool terminating)
    {
        var e = endpoint.Node;
        Assert.Equal(["addresses", "conditions", "nodeName", "targetRef"], e.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal([PodIP(pod)], Elements(e["addresses"]).Select(a => a.GetValue<string>()));
        Assert.Equal((ready, serving, terminating), (endpoint.Ready, endpoint.Serving, endpoint.Terminating));
        Assert.Equal(Str(pod["spec"]!["nodeName"]), Str(e["nodeName"]));
        AssertPodRef(e["targetRef"]!, pod);
    }

    /// <summary>
    /// upstream's Endpoints controller: ready pods under addresses, the others under notReadyAddresses, each with
    /// its nodeName and a Pod targetRef; ports are the Service's (unnamed here), at <paramref name="port"/> when given.
    /// </summary>
    private static void AssertEndpointsOfPods(JsonNode endpoints, List<JsonNode> ready, List<JsonNode> notReady, int? port)
    {
        var subsets = Elements(endpoints["subsets"]);
        if (ready.Count == 0 && notReady.Count == 0)
        {
            Assert.Empty(subsets);
            return;
        }
        foreach (var subset in subsets)
        {
            foreach (var p in Elements(subset["ports"]))
            {
                Assert.Equal("", Str(p["name"]));
                Assert.Equal("TCP", Str(p["protocol"]));
                Assert.True(port is null || p["port"]!.GetValue<int>() == port, $"subset port {p.ToJsonString()}, expected {port}");
            }
        }
        foreach (var (pods, field) in new[] { (ready, "addresses"), (notReady, "notReadyAddresses") })
        {
            var addresses = subsets.SelectMany(s => Elements(s[field])).ToList();
            Assert.Equal(pods.Select(PodIP).Order(StringComparer.Ordinal), addresses.Select(a => Str(a["ip"])).Order(StringComparer.Ordinal));
            foreach (var address in addresses)
            {
                var pod = pods.Single(p => PodIP(p) == Str(address["ip"]));
                Assert.Equal(["ip", "nodeName", "targetRef"], address.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
                Assert.Equal(Str(pod["spec"]!["nodeName"]), Str(address["nodeName"]));
                AssertPodRef(address["targetRef"]!, pod);
            }
        }
    }

    private static void AssertPodRef(JsonNode reference, JsonNode pod)
    {
        Assert.Equal(["kind", "name", "namespace", "uid"], reference.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(("Pod", Name(pod), Str(pod["metadata"]!["namespace"]), Str(pod["metadata"]!["uid"])),
            (Str(reference["kind"]), Str(reference["name"]), Str(reference["namespace"]), Str(reference["uid"])));
    }

    /// <summary>
    /// upstream endpointslicemirroring newEndpointSlice / addressToEndpoint / epPortsToEpsPorts: the Endpoints as
    /// controller owner, its labels plus service-name and managed-by, its annotations except last-applied, and
    /// per address only the address and ready.
    /// </summary>
    private static void AssertMirroredSlice(JsonNode slice, JsonNode endpoints)
    {
        Assert.Matches($"^external-service-{SafeChars}{{5}}$", Name(slice));
        Assert.Equal($$"""{"{{ManagedByLabel}}":"{{MirroringController}}","{{ServiceNameLabel}}":"external-service"}""",
            new JsonObject(slice["metadata"]!["labels"]!.AsObject().OrderBy(l => l.Key, StringComparer.Ordinal)
                .Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(Str(l.Value))))).ToJsonString());
        Assert.True(slice["metadata"]!["annotations"] is null || slice["metadata"]!["annotations"]!.AsObject().Count == 0,
            $"mirrored slice annotations {slice["metadata"]!["annotations"]?.ToJsonString()}: the Endpoints' last-applied-configuration must not be copied");
        AssertControllerOwner(slice, "Endpoints", endpoints);
        Assert.Equal("IPv4", Str(slice["addressType"]));
        Assert.Equal([("http", 88, "TCP")], Ports(slice));
        foreach (var e in Endpoints(slice))
        {
            Assert.Equal(["addresses", "conditions"], e.Node.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
            Assert.Equal(["ready"], e.Node["conditions"]!.AsObject().Select(p => p.Key));
        }
    }

    private static void AssertControllerOwner(JsonNode obj, string kind, JsonNode owner)
    {
        var refs = Elements(obj["metadata"]!["ownerReferences"]);
        Assert.True(refs.Count == 1, $"{Name(obj)}: ownerReferences {obj["metadata"]!["ownerReferences"]?.ToJsonString()}");
        var owned = refs[0];
        Assert.Equal(("v1", kind, Name(owner), Str(owner["metadata"]!["uid"]), true, true),
            (Str(owned["apiVersion"]), Str(owned["kind"]), Str(owned["name"]), Str(owned["uid"]), owned["controller"]?.GetValue<bool>() == true, owned["blockOwnerDeletion"]?.GetValue<bool>() == true));
    }

    public void Dispose()
    {
        _kubectl.Dispose();
        _output.WriteLine($"wall time {_watch.Elapsed.TotalSeconds:F1} s");
    }
}
