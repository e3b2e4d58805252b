using Berth.Controllers.Framework;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Controllers.Tests.Framework;

// Upstream pkg/controller/controller_utils_test.go TestControllerExpectations and TestUIDExpectations.
public sealed class ExpectationsTests
{
    [Fact]
    public async Task ControllerExpectations_SurpassedThenExpiredByTtl()
    {
        // TestControllerExpectations (creations and deletions set separately: the API sets one kind at a time).
        var clock = new FakeTimeProvider();
        var e = new Expectations(clock);
        const string rcKey = "default/foobar";
        const int adds = 10;
        var dels = Enumerable.Range(0, 30).Select(i => "default/pod-" + i).ToList();

        e.ExpectCreations(rcKey, adds);
        // One more observation than expected, concurrently: an extra add (from a failed create) can happen.
        await Task.WhenAll(Enumerable.Range(0, adds + 1).Select(_ => Task.Run(() => e.CreationObserved(rcKey))));
        Assert.Equal((-1L, 0L), e.Get(rcKey));
        Assert.True(e.Satisfied(rcKey));

        e.ExpectDeletions(rcKey, dels);
        Assert.False(e.Satisfied(rcKey));
        await Task.WhenAll(dels.Append("default/not-expected").Select(p => Task.Run(() => e.DeletionObserved(rcKey, p))));
        // "Expectations have been surpassed": deletions are counted per expected pod, so the stray one is not.
        Assert.Equal((0L, 0L), e.Get(rcKey));
        Assert.True(e.Satisfied(rcKey));

        // "Old expectations are cleared because of ttl".
        e.ExpectCreations(rcKey, 1);
        Assert.Equal((1L, 0L), e.Get(rcKey));
        Assert.False(e.Satisfied(rcKey));
        clock.Advance(Expectations.Timeout);
        Assert.False(e.Satisfied(rcKey));
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(e.Satisfied(rcKey));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(5)]
    public void UidExpectations_SatisfiedOnlyAfterEveryExpectedPodIsDeleted(int numReplicas)
    {
        // TestUIDExpectations: each controller expects the deletion of its 5 pods, by pod key.
        var e = new Expectations();
        var rcKey = "default/rc-" + numReplicas;
        var podKeys = Enumerable.Range(0, 5).Select(i => $"default/pod{i}-rc-{numReplicas}").ToList();
        e.ExpectDeletions(rcKey, podKeys);

        Assert.False(e.Satisfied(rcKey));
        foreach (var pod in podKeys)
        {
            e.DeletionObserved(rcKey, pod);
        }
        Assert.True(e.Satisfied(rcKey));

        e.Delete(rcKey);
        Assert.Null(e.Get(rcKey));
    }

    [Fact]
    public void DeletionObserved_SamePodTwice_CountsOnce()
    {
        // The update that sets deletionTimestamp and the delete event both report the same pod.
        var e = new Expectations();
        e.ExpectDeletions("default/rs", ["default/a", "default/b"]);

        e.DeletionObserved("default/rs", "default/a");
        e.DeletionObserved("default/rs", "default/a");

        Assert.False(e.Satisfied("default/rs"));
        Assert.Equal((0L, 1L), e.Get("default/rs"));
        e.DeletionObserved("default/rs", "default/b");
        Assert.True(e.Satisfied("default/rs"));
    }

    [Fact]
    public void Satisfied_UnknownController_IsTrue()
    {
        // A new controller, or one after a restart, has no expectations and can sync.
        Assert.True(new Expectations().Satisfied("default/new"));
    }

    [Fact]
    public void LowerExpectations_FailedCreatesAndDeletes_AreNotWaitedFor()
    {
        var e = new Expectations();
        e.ExpectCreations("default/rs", 3);

        e.CreationObserved("default/rs");
        e.LowerExpectations("default/rs", 2, 0);

        Assert.True(e.Satisfied("default/rs"));
        // Lowering a controller without expectations creates none.
        e.LowerExpectations("default/other", 1, 1);
        Assert.Null(e.Get("default/other"));
    }

    [Fact]
    public void ExpectCreations_ReplacesEarlierExpectations_WithAFreshTtl()
    {
        var clock = new FakeTimeProvider();
        var e = new Expectations(clock);
        e.ExpectCreations("default/rs", 2);
        clock.Advance(TimeSpan.FromMinutes(4));

        e.ExpectCreations("default/rs", 1);
        clock.Advance(TimeSpan.FromMinutes(4));

        Assert.Equal((1L, 0L), e.Get("default/rs"));
        Assert.False(e.Satisfied("default/rs"));
    }
}
