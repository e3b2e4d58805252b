using Berth.Node.Kubelet;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Kubelet;

// client-go util/flowcontrol backoff_test.go (TestSlowBackoff without jitter, TestBackoffReset) as the kubelet's
// kuberuntime doBackOff uses it: IsInBackOffSince(key, finishedAt) then Next(key, finishedAt).
public sealed class RestartBackOffTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void First_restart_is_immediate_then_10s_doubling_to_a_5m_cap()
    {
        var backOff = new RestartBackOff(_time);
        var expected = new[] { 10, 20, 40, 80, 160, 300, 300, 300 };

        // A container that crashes the moment it starts: it exits, waits out its back-off, starts and exits again.
        var finishedAt = _time.GetUtcNow();
        Assert.Null(backOff.BlockedUntil("c", finishedAt));
        backOff.Started("c", finishedAt);
        foreach (var seconds in expected)
        {
            Assert.Equal(TimeSpan.FromSeconds(seconds), backOff.Current("c"));
            finishedAt = _time.GetUtcNow();
            Assert.Equal(finishedAt.AddSeconds(seconds), backOff.BlockedUntil("c", finishedAt));

            _time.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromTicks(1));
            Assert.NotNull(backOff.BlockedUntil("c", finishedAt));
            _time.Advance(TimeSpan.FromTicks(1));
            Assert.Null(backOff.BlockedUntil("c", finishedAt));
            backOff.Started("c", finishedAt);
        }
    }

    [Fact]
    public void Slow_backoff_without_jitter_doubles_from_the_step_to_the_cap()
    {
        // TestSlowBackoff: step 1s, max 50s, the clock stepping 1s before each Next.
        var backOff = new RestartBackOff(_time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(50));
        var expected = new[] { 0, 1, 2, 4, 8, 16, 32, 50, 50, 50 };
        foreach (var seconds in expected)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(TimeSpan.FromSeconds(seconds), backOff.Current("id"));
            backOff.Started("id", _time.GetUtcNow());
        }
    }

    [Fact]
    public void Running_longer_than_twice_the_cap_starts_over_at_the_initial_back_off()
    {
        // TestBackoffReset: step 1s, max 5s, driven to the cap; an exit more than 2 × max after the last
        // update is not in back-off and the next back-off is the step again.
        var backOff = new RestartBackOff(_time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        for (var i = 0; i <= 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            backOff.Started("id", _time.GetUtcNow());
        }
        Assert.Equal(TimeSpan.FromSeconds(5), backOff.Current("id"));
        Assert.NotNull(backOff.BlockedUntil("id", _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromSeconds(11));
        var exited = _time.GetUtcNow();
        Assert.Null(backOff.BlockedUntil("id", exited));
        backOff.Started("id", exited);
        Assert.Equal(TimeSpan.FromSeconds(1), backOff.Current("id"));
    }

    [Fact]
    public void An_exit_exactly_twice_the_cap_after_the_last_start_still_backs_off()
    {
        // hasExpired is eventTime - lastUpdate > 2 × max: at exactly 2 × max the back-off keeps doubling.
        var backOff = new RestartBackOff(_time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        var started = _time.GetUtcNow();
        backOff.Started("id", started);

        _time.Advance(TimeSpan.FromSeconds(10));
        var exited = _time.GetUtcNow();
        Assert.Equal(exited.AddSeconds(1), backOff.BlockedUntil("id", exited));
        backOff.Started("id", exited);
        Assert.Equal(TimeSpan.FromSeconds(2), backOff.Current("id"));

        _time.Advance(TimeSpan.FromSeconds(10) + TimeSpan.FromTicks(1));
        Assert.Null(backOff.BlockedUntil("id", _time.GetUtcNow()));
        backOff.Started("id", _time.GetUtcNow());
        Assert.Equal(TimeSpan.FromSeconds(1), backOff.Current("id"));
    }

    [Fact]
    public void Keys_back_off_independently_and_Forget_clears_one()
    {
        var backOff = new RestartBackOff(_time);
        var now = _time.GetUtcNow();
        backOff.Started("pod-a/app", now);
        backOff.Started("pod-a/app", now);
        backOff.Started("pod-b/app", now);

        Assert.Equal(TimeSpan.FromSeconds(20), backOff.Current("pod-a/app"));
        Assert.Equal(TimeSpan.FromSeconds(10), backOff.Current("pod-b/app"));
        Assert.Equal(TimeSpan.Zero, backOff.Current("pod-c/app"));
        Assert.Equal(now.AddSeconds(10), backOff.BlockedUntil("pod-b/app", now));
    }

    [Fact]
    public void Message_is_upstreams_CrashLoopBackOff_message() =>
        Assert.Equal("back-off 1m20s restarting failed container=app pod=web_default(8d3c0f4e-1)",
            RestartBackOff.Message(TimeSpan.FromSeconds(80), "app", "web", "default", "8d3c0f4e-1"));

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(10, "10s")]
    [InlineData(59, "59s")]
    [InlineData(60, "1m0s")]
    [InlineData(80, "1m20s")]
    [InlineData(300, "5m0s")]
    [InlineData(3599, "59m59s")]
    [InlineData(3600, "1h0m0s")]
    [InlineData(3725, "1h2m5s")]
    [InlineData(90061, "25h1m1s")]
    public void GoDuration_formats_like_Go(int seconds, string expected) =>
        Assert.Equal(expected, RestartBackOff.GoDuration(TimeSpan.FromSeconds(seconds)));
}
