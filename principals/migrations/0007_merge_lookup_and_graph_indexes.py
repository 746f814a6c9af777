"""Joins the lookup indexes (performance) and the graph keyset indexes (and sign-in sessions), made side by side."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('principals', '0005_principal_lookup_indexes'),
        ('principals', '0006_graph_keyset_index'),
    ]

    operations = [
    ]
