{%- extends 'nbgrader/manage_submissions.tpl' -%}
{#- nbgrader's page without inline script: its variables are data- attributes of page.js (base.tpl). -#}
{%- block page_vars %} data-assignment_id="{{ assignment_id }}"{% endblock -%}
{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/manage_submissions.js"></script>
<script src="{{ base_url }}/formgrader/coursekit/names.js"></script>
{%- endblock head -%}
{%- block messages -%}
<div class="alert alert-info" id="coursekit-grade-note">
  Autograde and Generate Feedback are switched off here: they would run a submission outside the
  sandbox and write feedback with the hidden tests. Grade with <code>make grade TOPIC={{ assignment_id }}</code>
  (it also makes the feedback); the manual grades and comments you give here are kept.
</div>
{%- endblock -%}

{%- block table_header -%}
<tr>
  <th>Student Name</th>
  <th class="text-center">Student ID</th>
  <th class="text-center">Timestamp</th>
  <th class="text-center">Status</th>
  <th class="text-center">Score</th>
  <th class="text-center no-sort coursekit-off">Autograde</th>
  <th class="text-center no-sort coursekit-off">Generate Feedback</th>
  <th class="text-center no-sort">Release Feedback</th>
</tr>
{%- endblock -%}
