using Berth.Api.Models;
using static Berth.Client.Tests.KubeClientTests;

namespace Berth.Client.Tests;

public sealed class EventRecorderTests
{
    [Fact]
    public async Task Record_SameEventTwice_CreatesThenAggregatesCount()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var pod = await client.CreateAsync(Pod("ev"));
        await using var recorder = new EventRecorder(client, "kubelet", "node-a");

        recorder.Record(pod, "Warning", "BackOff", "Back-off restarting failed container", "spec.containers{c}");
        recorder.Record(pod, "Warning", "BackOff", "Back-off restarting failed container", "spec.containers{c}");
        recorder.Record(pod, "Normal", "Pulled", "Container image \"busybox\" already present on machine", "spec.containers{c}");
        await recorder.FlushAsync();

        var events = (await client.ListAsync<Event>("default")).Items;
        Assert.Equal(2, events.Count);
        var backOff = Assert.Single(events, e => e.Reason == "BackOff");
        Assert.Equal(2, backOff.Count);
        Assert.Equal("Warning", backOff.Type);
        Assert.Equal("Back-off restarting failed container", backOff.Message);
        Assert.Matches("^ev\\.[0-9a-f]+$", backOff.Metadata!.Name);
        Assert.Equal("default", backOff.Metadata.Namespace);
        Assert.Equal("Pod", backOff.InvolvedObject!.Kind);
        Assert.Equal("v1", backOff.InvolvedObject.ApiVersion);
        Assert.Equal("ev", backOff.InvolvedObject.Name);
        Assert.Equal("default", backOff.InvolvedObject.Namespace);
        Assert.Equal(pod.Metadata!.Uid, backOff.InvolvedObject.Uid);
        Assert.Equal(pod.Metadata.ResourceVersion, backOff.InvolvedObject.ResourceVersion);
        Assert.Equal("spec.containers{c}", backOff.InvolvedObject.FieldPath);
        Assert.Equal("kubelet", backOff.Source!.Component);
        Assert.Equal("node-a", backOff.Source.Host);
        Assert.Equal("kubelet", backOff.ReportingComponent);
        Assert.Equal("node-a", backOff.ReportingInstance);
        Assert.NotNull(backOff.FirstTimestamp);
        Assert.True(backOff.LastTimestamp >= backOff.FirstTimestamp);
        Assert.Equal(1, Assert.Single(events, e => e.Reason == "Pulled").Count);
        Assert.Equal(0, recorder.Dropped);
    }

    [Fact]
    public async Task Record_EventsAboutOneObjectInTheSameClockTick_AllWritten()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var rs = await client.CreateAsync(Pod("tick"));
        var frozen = new FrozenTime(DateTimeOffset.UnixEpoch.AddDays(20_000));
        // Two recorders (two components) and two events each, all at one instant: four names from one timestamp.
        await using var first = new EventRecorder(client, "replicaset-controller", null, frozen);
        await using var second = new EventRecorder(client, "kubelet", "n", frozen);

        first.Record(rs, "Normal", "SuccessfulDelete", "Deleted pod: a");
        first.Record(rs, "Normal", "SuccessfulDelete", "Deleted pod: b");
        await first.FlushAsync();
        second.Record(rs, "Normal", "Killing", "Stopping container c");
        second.Record(rs, "Normal", "Started", "Started container c");
        await second.FlushAsync();

        var events = (await client.ListAsync<Event>("default")).Items;
        Assert.Equal(["Deleted pod: a", "Deleted pod: b", "Started container c", "Stopping container c"], events.Select(e => e.Message).Order());
        Assert.Equal(4, events.Select(e => e.Metadata!.Name).Distinct().Count());
        Assert.Equal((0, 0), (first.Dropped, second.Dropped));
    }

    private sealed class FrozenTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task Record_ClusterScopedObject_GoesToDefaultNamespace()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var ns = await client.GetAsync<Namespace>(null, "kube-system");
        await using var recorder = new EventRecorder(client, "berth", null);

        recorder.Record(ns, "Normal", "Seen", "hello");
        await recorder.FlushAsync();

        var e = Assert.Single((await client.ListAsync<Event>("default")).Items);
        Assert.Equal("Namespace", e.InvolvedObject!.Kind);
        Assert.Null(e.InvolvedObject.Namespace);
        Assert.Equal("kube-system", e.InvolvedObject.Name);
    }

    [Fact]
    public async Task Record_ServerUnreachable_NeverThrowsAndCountsDrops()
    {
        using var client = new KubeClient(new KubeClientOptions { Server = new Uri("https://127.0.0.1:1"), Token = "t" });
        await using var recorder = new EventRecorder(client, "kubelet", "n");

        recorder.Record(KubeClientTests.ConfigMap("x"), "Normal", "R", "m");
        await recorder.FlushAsync();

        Assert.Equal(1, recorder.Dropped);
    }
}
