{%- extends 'nbgrader/manage_assignments.tpl' -%}
{#- nbgrader's page without inline script: its variables are data- attributes of page.js (base.tpl). -#}
{%- block page_vars %} data-url_prefix="{{ url_prefix }}" data-default_timezone="{{ default_timezone }}"{% endblock -%}
{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/manage_assignments.js"></script>
{%- endblock head -%}
{%- block table_header -%}
<tr>
  <th>Name</th>
  <th class="text-center">Due Date</th>
  <th class="text-center">Status</th>
  <th class="text-center no-sort">Edit</th>
  <th class="text-center no-sort">Generate</th>
  <th class="text-center no-sort">Preview</th>
  <th class="text-center no-sort">Release</th>
  <th class="text-center no-sort">Collect</th>
  <th class="text-center"># Submissions</th>
  <th class="text-center no-sort coursekit-off">Generate Feedback</th>
  <th class="text-center no-sort">Release Feedback</th>
</tr>
{%- endblock -%}
