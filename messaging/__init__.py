"""The one messaging runtime every Clearway service uses: producer, outbox relay, consumer loop."""
